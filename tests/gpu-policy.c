/*
 * tests/gpu-policy.c - the CUDA backend's decisions that need no GPU
 * (cuda/policy.h), driven with made-up cuDNN answers: deterministic
 * algorithms only unless allowed (DL_CUDA_DETERMINISTIC=0, or the older
 * DL_CUDA_NONDET=1), the timed search only where non-determinism is
 * allowed, the fp32 fallback of a 16-bit convolution when cuDNN says "not
 * supported" (or offers nothing usable), which memory a failure ran out
 * of, and the scratch buffers: never a NULL block freed, the pool setting
 * kept (the allocator's ops), a zero-byte workspace not an error.
 */
#include <string.h>

#include "t.h"
#include "../cuda/policy.h"

/* ---- a fake allocator: counts, refuses NULL frees, fails on demand ---- */
struct fake {
	int allocs, frees, null_frees, fail_alloc;
	size_t last;
	char mem[4][4096];
	int next;
};

static int
fake_alloc(void *arg, void **p, size_t n)
{
	struct fake *f = arg;

	if (f->fail_alloc)
		return 2;		/* cudaErrorMemoryAllocation */
	f->allocs++;
	f->last = n;
	*p = f->mem[f->next++ % 4];
	return 0;
}

static int
fake_free(void *arg, void *p)
{
	struct fake *f = arg;

	if (!p) {
		f->null_frees++;
		return 1;		/* what a driver may say to cudaFreeAsync(NULL) */
	}
	f->frees++;
	return 0;
}

static void
test_algo(void)
{
	/* cuDNN's order, best first: a fast non-deterministic one, a TF32
	 * one, a conversion one, a big deterministic one, a small one */
	struct cuda_algo a[] = {
		{ 1, 1, 1000, 0, CUDA_MATH_FMA },
		{ 2, 1, 1000, 1, CUDA_MATH_TENSOR },
		{ 3, 1, 1000, 1, CUDA_MATH_CONVERT },
		{ 4, 1, 1 << 20, 1, CUDA_MATH_FMA },
		{ 5, 1, 4096, 1, CUDA_MATH_FMA },
		{ 6, 0, 0, 1, CUDA_MATH_FMA },
	};
	int n = sizeof a / sizeof a[0];

	/* deterministic by default: the first deterministic fp32 entry that fits */
	CHECK(cuda_algo_pick(a, n, 1 << 20, 0, 0) == 3);
	CHECK(cuda_algo_pick(a, n, 8192, 0, 0) == 4);
	/* non-deterministic allowed: cuDNN's first */
	CHECK(cuda_algo_pick(a, n, 8192, 0, 1) == 0);
	/* tensor math allowed (TF32 or 16-bit data) */
	CHECK(cuda_algo_pick(a, n, 8192, 1, 0) == 1);
	/* no deterministic entry fits: none, not a silent non-deterministic one */
	CHECK(cuda_algo_pick(a, n, 2000, 0, 0) == -1);
	CHECK(!strcmp(cuda_algo_why_none(a, n, 2000, 0, 0), "deterministic"));
	CHECK(cuda_algo_pick(a, n, 2000, 0, 1) == 0);
	CHECK(!strcmp(cuda_algo_why_none(a, n, 10, 0, 1), "workspace"));
	CHECK(cuda_algo_pick(a + 5, 1, 1 << 20, 0, 1) == -1);
	CHECK(!strcmp(cuda_algo_why_none(a + 5, 1, 1 << 20, 0, 1), "none"));
	CHECK(cuda_algo_pick(a, 0, 1 << 20, 1, 1) == -1);
	/* workspace 0 ($DL_CUDA_WORKSPACE_MB=0): only entries that need none */
	a[5].ok = 1;
	CHECK(cuda_algo_pick(a, n, 0, 0, 0) == 5);
}

static void
test_outcome(void)
{
	/* cuDNN 9 statuses by class */
	CHECK(cuda_dnn_status_class(0) == CUDA_ST_OK);
	CHECK(cuda_dnn_status_class(3000) == CUDA_ST_UNSUPPORTED);
	CHECK(cuda_dnn_status_class(3002) == CUDA_ST_UNSUPPORTED);	/* _SHAPE */
	CHECK(cuda_dnn_status_class(3003) == CUDA_ST_UNSUPPORTED);	/* _DATA_TYPE */
	CHECK(cuda_dnn_status_class(2000) == CUDA_ST_ERROR);		/* BAD_PARAM */
	CHECK(cuda_dnn_status_class(4000) == CUDA_ST_ERROR);
	CHECK(cuda_dnn_status_class(4003) == CUDA_ST_HOST_NOMEM);	/* the old ALLOC_FAILED */
	CHECK(cuda_dnn_status_class(4004) == CUDA_ST_DEVICE_NOMEM);
	CHECK(cuda_dnn_status_class(5000) == CUDA_ST_ERROR);

	/* a 16-bit plan: "not supported" from the query itself, or nothing
	 * usable, or "not supported" when run: the fp32 plan */
	CHECK(cuda_algo_outcome(CUDA_ST_UNSUPPORTED, -1, 1) == CUDA_FP32);
	CHECK(cuda_algo_outcome(CUDA_ST_OK, -1, 1) == CUDA_FP32);
	CHECK(cuda_algo_outcome(CUDA_ST_OK, 2, 1) == CUDA_USE);
	/* other errors are errors; an fp32 plan has nothing to fall back to */
	CHECK(cuda_algo_outcome(CUDA_ST_ERROR, -1, 1) == CUDA_FAIL);
	CHECK(cuda_algo_outcome(CUDA_ST_DEVICE_NOMEM, -1, 1) == CUDA_FAIL);
	CHECK(cuda_algo_outcome(CUDA_ST_UNSUPPORTED, -1, 0) == CUDA_FAIL);
	CHECK(cuda_algo_outcome(CUDA_ST_OK, -1, 0) == CUDA_FAIL);
	CHECK(cuda_algo_outcome(CUDA_ST_OK, 0, 0) == CUDA_USE);
}

static void
test_settings(void)
{
	struct cuda_settings s;

	s = cuda_settings_of(NULL, NULL, NULL);		/* the default */
	CHECK(!s.nondet && !s.search && !s.search_ignored);
	s = cuda_settings_of(NULL, NULL, "1");		/* search under determinism: ignored */
	CHECK(!s.nondet && !s.search && s.search_ignored);
	s = cuda_settings_of("0", NULL, "1");
	CHECK(s.nondet && s.search && !s.search_ignored);
	s = cuda_settings_of("0", NULL, NULL);
	CHECK(s.nondet && !s.search);
	s = cuda_settings_of(NULL, "1", NULL);		/* the older name */
	CHECK(s.nondet);
	s = cuda_settings_of("1", "1", "1");		/* the newer one wins */
	CHECK(!s.nondet && !s.search && s.search_ignored);
	s = cuda_settings_of("", "0", "0");
	CHECK(!s.nondet && !s.search && !s.search_ignored);
}

static void
test_memory_names(void)
{
	CHECK(!strcmp(cuda_rt_nomem_where("cudaHostAlloc(&ctx->stage[i].host, 8, 0)"), "host"));
	CHECK(!strcmp(cuda_rt_nomem_where("cudaMallocHost(&p, 8)"), "host"));
	CHECK(!strcmp(cuda_rt_nomem_where("cudaMalloc((void **)&ctx->part, 8)"), "device"));
	CHECK(!strcmp(cuda_rt_nomem_where("cudaMallocAsync"), "device"));
}

static void
test_buf(void)
{
	struct fake f = { 0 };
	const struct cuda_buf_ops ops = { &f, fake_alloc, fake_free };
	struct cuda_buf b = { NULL, 0 };
	int err = 0;
	size_t asked = 0;

	/* the first use (bias_bwd's ones): nothing to free, never a NULL free */
	CHECK(cuda_buf_grow(&b, 1000, &ops, &err, &asked) == CUDA_BUF_OK);
	CHECK(f.null_frees == 0 && f.frees == 0 && f.allocs == 1);
	CHECK(b.p && b.n == 1280 && asked == 1280);	/* 1000 + 250, to 256 */
	/* enough: nothing happens */
	CHECK(cuda_buf_grow(&b, 1280, &ops, &err, &asked) == CUDA_BUF_OK);
	CHECK(f.allocs == 1 && f.frees == 0);
	/* more: the old block freed, a new one */
	CHECK(cuda_buf_grow(&b, 2000, &ops, &err, &asked) == CUDA_BUF_OK);
	CHECK(f.allocs == 2 && f.frees == 1 && b.n == 2560);
	/* zero bytes (DL_CUDA_WORKSPACE_MB=0): not an error, nothing allocated */
	{
		struct cuda_buf z = { NULL, 0 };
		CHECK(cuda_buf_grow(&z, 0, &ops, &err, &asked) == CUDA_BUF_OK);
		CHECK(z.p == NULL && f.allocs == 2);
	}
	/* trimmed after a search: freed, then grown to what is needed */
	CHECK(cuda_buf_trim(&b, 4096, &ops) == 0 && b.p && f.frees == 1);
	CHECK(cuda_buf_trim(&b, 100, &ops) == 0 && !b.p && b.n == 0 && f.frees == 2);
	CHECK(cuda_buf_trim(&b, 0, &ops) == 0 && f.null_frees == 0);
	CHECK(cuda_buf_grow(&b, 100, &ops, &err, &asked) == CUDA_BUF_OK && f.null_frees == 0);
	/* out of memory: empty, the error and the size asked for */
	f.fail_alloc = 1;
	CHECK(cuda_buf_grow(&b, 100000, &ops, &err, &asked) == CUDA_BUF_ALLOC_FAILED);
	CHECK(err == 2 && asked == 125184 && !b.p && b.n == 0);
	/* and the next try frees nothing */
	f.fail_alloc = 0;
	CHECK(cuda_buf_grow(&b, 10, &ops, &err, &asked) == CUDA_BUF_OK);
	CHECK(f.null_frees == 0);
}

int
main(void)
{
	test_algo();
	test_outcome();
	test_settings();
	test_memory_names();
	test_buf();
	T_DONE();
}
