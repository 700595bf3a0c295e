/*
 * policy.h - the CUDA backend's decisions that need no GPU, as pure
 * functions of plain C (no CUDA headers), so that tests/gpu-policy.c
 * drives them with made-up algorithm tables and statuses on any machine:
 * which cuDNN convolution algorithm to take, what a query that found
 * none (or said "not supported") leads to, the determinism and search
 * settings from the environment, which memory a failure ran out of, and
 * the growing (and trimming) of the context's scratch buffers.
 */
#ifndef DL_CUDA_POLICY_H
#define DL_CUDA_POLICY_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ---- settings from the environment ------------------------------------------------
 * Deterministic algorithms only (the contract's "same input, same bits")
 * unless DL_CUDA_DETERMINISTIC=0 (or the older DL_CUDA_NONDET=1).  The
 * timed search (DL_CUDA_CONV_SEARCH=1) picks by run time, which differs
 * from run to run, so it counts only where non-determinism is allowed;
 * asked for under determinism it is ignored (search_ignored says so). */
struct cuda_settings {
	int nondet;		/* non-deterministic algorithms allowed */
	int search;		/* time cuDNN's algorithms (cudnnFind*) */
	int search_ignored;	/* search asked for, refused by determinism */
};

static inline int
cuda_envflag(const char *s, int dflt)
{
	return s && *s ? atoi(s) != 0 : dflt;
}

static inline struct cuda_settings
cuda_settings_of(const char *deterministic, const char *nondet, const char *search)
{
	struct cuda_settings st;

	st.nondet = !cuda_envflag(deterministic, !cuda_envflag(nondet, 0));
	st.search = cuda_envflag(search, 0) && st.nondet;
	st.search_ignored = cuda_envflag(search, 0) && !st.nondet;
	return st;
}

/* ---- algorithm choice --------------------------------------------------------------
 * One entry of cuDNN's answer (cudnnConvolution*AlgoPerf_t, best first). */
enum { CUDA_MATH_FMA, CUDA_MATH_TENSOR, CUDA_MATH_CONVERT };	/* CONVERT: fp32 data through fp16 */
struct cuda_algo {
	int algo;
	int ok;			/* status CUDNN_STATUS_SUCCESS */
	size_t memory;		/* workspace */
	int deterministic;
	int math;		/* CUDA_MATH_* (DEFAULT and FMA are FMA) */
};

/* The first usable entry: it ran, fits limit, keeps fp32 arithmetic unless
 * tensor_ok (TF32 on, or 16-bit data), and is deterministic unless nondet.
 * -1 when none is. */
static inline int
cuda_algo_pick(const struct cuda_algo *a, int n, size_t limit, int tensor_ok, int nondet)
{
	for (int i = 0; i < n; i++) {
		if (!a[i].ok || a[i].memory > limit || a[i].math == CUDA_MATH_CONVERT)
			continue;
		if (!tensor_ok && a[i].math == CUDA_MATH_TENSOR)
			continue;
		if (!nondet && !a[i].deterministic)
			continue;
		return i;
	}
	return -1;
}

/* Why none was picked (for the message): "deterministic" when a
 * non-deterministic entry would have fitted, "workspace" when an entry
 * failed only the limit, else "none". */
static inline const char *
cuda_algo_why_none(const struct cuda_algo *a, int n, size_t limit, int tensor_ok, int nondet)
{
	if (!nondet && cuda_algo_pick(a, n, limit, tensor_ok, 1) >= 0)
		return "deterministic";
	if (cuda_algo_pick(a, n, (size_t)-1, tensor_ok, nondet) >= 0)
		return "workspace";
	return "none";
}

/* A cuDNN status by class: its numeric value / 1000 (cuDNN 9:
 * 3xxx NOT_SUPPORTED_*, 4003 host and 4004 device allocation failed). */
enum { CUDA_ST_OK, CUDA_ST_UNSUPPORTED, CUDA_ST_HOST_NOMEM, CUDA_ST_DEVICE_NOMEM, CUDA_ST_ERROR };
static inline int
cuda_dnn_status_class(int status)
{
	if (status == 0)
		return CUDA_ST_OK;
	if (status / 1000 == 3)
		return CUDA_ST_UNSUPPORTED;
	if (status == 4003)
		return CUDA_ST_HOST_NOMEM;
	if (status == 4004)
		return CUDA_ST_DEVICE_NOMEM;
	return CUDA_ST_ERROR;
}

/* What a direction does after cuDNN's query (its status class, and the
 * entry picked or -1): use the entry; run the fp32 plan instead (a 16-bit
 * plan that cuDNN cannot serve: "not supported", or nothing usable); or
 * fail (an fp32 plan without an algorithm, or any other error). */
enum { CUDA_USE, CUDA_FP32, CUDA_FAIL };
static inline int
cuda_algo_outcome(int query_class, int picked, int lowp)
{
	if (query_class == CUDA_ST_OK && picked >= 0)
		return CUDA_USE;
	if (lowp && (query_class == CUDA_ST_OK || query_class == CUDA_ST_UNSUPPORTED))
		return CUDA_FP32;
	return CUDA_FAIL;
}

/* ---- which memory ran out ------------------------------------------------------------
 * A CUDA runtime call that fails with cudaErrorMemoryAllocation: the
 * pinned host allocations are host memory, everything else device. */
static inline const char *
cuda_rt_nomem_where(const char *call)
{
	return !strncmp(call, "cudaHostAlloc", 13) || !strncmp(call, "cudaMallocHost", 14) ||
	    !strncmp(call, "cudaHostRegister", 16) ? "host" : "device";
}

/* ---- scratch buffers (workspace, 16-bit operands, ones) ------------------------------
 * ops: the allocator (stream-ordered or not), each returning 0 or its error. */
struct cuda_buf {
	void *p;
	size_t n;
};
struct cuda_buf_ops {
	void *arg;
	int (*alloc)(void *arg, void **p, size_t n);
	int (*free)(void *arg, void *p);
};
enum { CUDA_BUF_OK, CUDA_BUF_FREE_FAILED, CUDA_BUF_ALLOC_FAILED };

/* b holds at least need bytes (contents undefined) after CUDA_BUF_OK; to
 * grow, the old block is freed (never a NULL one) and need + need/4,
 * rounded up to 256, is allocated.  need 0 asks for nothing.  On failure
 * b is empty, *err the allocator's error, *asked the bytes asked for. */
static inline int
cuda_buf_grow(struct cuda_buf *b, size_t need, const struct cuda_buf_ops *ops, int *err,
    size_t *asked)
{
	size_t n;
	int e;

	if (need <= b->n)
		return CUDA_BUF_OK;
	if (b->p && (e = ops->free(ops->arg, b->p)) != 0) {
		b->p = NULL;
		b->n = 0;
		*err = e;
		return CUDA_BUF_FREE_FAILED;
	}
	b->p = NULL;
	b->n = 0;
	n = (need + need / 4 + 255) & ~(size_t)255;
	*asked = n;
	if ((e = ops->alloc(ops->arg, &b->p, n)) != 0) {
		b->p = NULL;
		*err = e;
		return CUDA_BUF_ALLOC_FAILED;
	}
	b->n = n;
	return CUDA_BUF_OK;
}

/* Give back a block larger than keep (a timed search's room): the next
 * grow allocates what is needed then.  0, or the free's error. */
static inline int
cuda_buf_trim(struct cuda_buf *b, size_t keep, const struct cuda_buf_ops *ops)
{
	int e = 0;

	if (b->p && b->n > keep) {
		e = ops->free(ops->arg, b->p);
		b->p = NULL;
		b->n = 0;
	}
	return e;
}

#endif
